module github.com/cofiharness/cofi

go 1.26
