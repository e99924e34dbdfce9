# guard.awk: replaces the body of every function of a C++ source that a
# compiler error points into by one that sets gotch's thread-local error and
# returns a zero value, so the rest of the wrapper still builds against a
# libtorch that lacks some of the operators gotch v0.9.1 wraps.
#
#   LC_ALL=C awk -v file=NAME -v why=TEXT -v list=PATH -f guard.awk DIAG SRC > NEW
#
# DIAG is the compiler's output (run with LC_ALL=C), SRC the source, NAME the
# source's name as the diagnostics spell it (its basename). The names of the
# functions replaced are appended to PATH, one per line.
#
# Functions are recognised as gotch's sources write them: a header starting in
# column 0 (return type, name, '('), and the brace block after the parameter
# list; a ';' after the parameters makes it a declaration.

function esc(s) { gsub(/[.[\]()*+?^$|\\]/, "\\\\&", s); return s }

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }

function stub(name, ret,    r) {
	r = ""
	if (ret == "void") r = ""
	else if (ret ~ /\*$/ || ret == "tensor" || ret == "scalar" || ret == "optimizer" || ret == "module" || ret == "ivalue") r = " return nullptr;"
	else if (ret == "bool") r = " return false;"
	else r = " return {};"
	return "  torch_last_err = strdup(\"" name " is not available in this libtorch (" why ")\");" r
}

BEGIN {
	fre = "(^|[ /])" esc(file) ":[0-9]+:[0-9]+:[ ]*(error:|required from)"
	infn = "(^|[ /])" esc(file) ": In (member )?function "
	npend = 0
}

# Pass 1: the diagnostics.
FILENAME == ARGV[1] {
	if ($0 ~ infn) {
		# "FILE: In function 'void atg_foo(tensor*, ...)':" -> atg_foo
		s = $0
		sub(/\(.*$/, "", s)
		sub(/^.*[^A-Za-z0-9_]/, "", s)
		if (s != "") pend[++npend] = s
		next
	}
	if (match($0, fre)) {
		s = substr($0, RSTART, RLENGTH)
		sub(/^[ \/]/, "", s)
		n = split(s, parts, ":")
		errline[parts[2] + 0] = 1
	}
	if (index($0, "error:") > 0) {
		for (k = 1; k <= npend; k++) wanted[pend[k]] = 1
		npend = 0
	}
	next
}

# Pass 2: the source, kept whole.
{ L[++N] = $0 }

END {
	state = 0; nf = 0; incomment = 0
	for (i = 1; i <= N; i++) {
		line = L[i]
		col = 1
		if (state == 0) {
			c1 = substr(line, 1, 1)
			if (line == "" || c1 ~ /[ \t#\/}]/) continue
			if (!match(line, /^[A-Za-z_][A-Za-z0-9_:<>, \t*&]*[ \t*&]+[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) continue
			h = substr(line, 1, RLENGTH - 1)
			h = trim(h)
			name = h
			sub(/^.*[^A-Za-z0-9_]/, "", name)
			ret = trim(substr(h, 1, length(h) - length(name)))
			if (ret ~ /^return([^A-Za-z0-9_]|$)/) continue
			state = 1; pdepth = 0; fstart = i; col = RLENGTH
		}
		n = length(line)
		for (; col <= n; col++) {
			c = substr(line, col, 1)
			if (state == 1) {
				if (c == "(") pdepth++
				else if (c == ")") { if (--pdepth == 0) state = 2 }
			} else if (state == 2) {
				if (c == ";") { state = 0; break }
				if (c == "{") { state = 3; bdepth = 1; bsl = i; bsc = col }
			} else if (state == 3) {
				if (incomment) {
					if (c == "*" && substr(line, col + 1, 1) == "/") { incomment = 0; col++ }
					continue
				}
				if (c == "\"" || c == "'") {
					q = c
					for (col++; col <= n; col++) {
						d = substr(line, col, 1)
						if (d == "\\") { col++; continue }
						if (d == q) break
					}
					continue
				}
				if (c == "/" && substr(line, col + 1, 1) == "/") break
				if (c == "/" && substr(line, col + 1, 1) == "*") { incomment = 1; col++; continue }
				if (c == "{") bdepth++
				else if (c == "}") {
					if (--bdepth == 0) {
						nf++
						FS_[nf] = fstart; FE[nf] = i; FN[nf] = name; FR[nf] = ret
						BSL[nf] = bsl; BSC[nf] = bsc; BEC[nf] = col
						state = 0
						break
					}
				}
			}
		}
	}
	# The functions to replace: those holding an error line, and those the
	# compiler named in an "In function" line followed by an error.
	for (f = 1; f <= nf; f++) {
		g = (FN[f] in wanted)
		for (l = FS_[f]; !g && l <= FE[f]; l++) if (l in errline) g = 1
		guard[f] = g
	}
	i = 1
	for (f = 1; f <= nf; f++) {
		if (!guard[f]) continue
		for (; i < BSL[f]; i++) print L[i]
		print substr(L[BSL[f]], 1, BSC[f])
		print stub(FN[f], FR[f])
		print substr(L[FE[f]], BEC[f])
		i = FE[f] + 1
		if (list != "") print FN[f] >> list
	}
	for (; i <= N; i++) print L[i]
}
