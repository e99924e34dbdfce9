package torchsetup

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

const sample = `// header
#include "x.h"

void atg_ok(tensor *out__, tensor self) {
  PROTECT(
    auto outputs__ = torch::abs(*self);
    out__[0] = new torch::Tensor(outputs__);
  )
}

void atg_new_op(tensor *out__, tensor self,
                int64_t dim) {
  PROTECT(
    auto outputs__ = torch::new_op(*self, "}{", '{');
    out__[0] = new torch::Tensor(outputs__);
  )
}

tensor *atg_split_new(tensor self) {
  PROTECT(
    auto outputs__ = torch::split_new(*self); /* } */
  )
  return nullptr;
}

int64_t atg_count(tensor self) {
  PROTECT(return torch::count(*self);)
  return 0;
}
`

func TestFunctions(t *testing.T) {
	fs := functions(sample)
	var got []string
	for _, f := range fs {
		got = append(got, f.name+":"+f.returnType)
	}
	want := []string{"atg_ok:void", "atg_new_op:void", "atg_split_new:tensor *", "atg_count:int64_t"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("functions = %v, want %v", got, want)
	}
	if fs[1].start != 11 || fs[1].end != 17 {
		t.Fatalf("atg_new_op spans lines %d-%d, want 11-17", fs[1].start, fs[1].end)
	}
}

func TestGuardReplacesOnlyBrokenFunctions(t *testing.T) {
	names := functionsAt(sample, []int{14, 22, 28})
	out, done := guard(sample, names, "libtorch 1.13.0")
	sort.Strings(done)
	if !reflect.DeepEqual(done, []string{"atg_count", "atg_new_op", "atg_split_new"}) {
		t.Fatalf("guarded %v", done)
	}
	for _, gone := range []string{"torch::new_op", "torch::split_new", "torch::count"} {
		if strings.Contains(out, gone) {
			t.Errorf("%s still present after guard", gone)
		}
	}
	if !strings.Contains(out, "torch::abs(*self)") {
		t.Error("working function was changed")
	}
	for _, want := range []string{
		`torch_last_err = strdup("atg_new_op is not available in this libtorch (libtorch 1.13.0)");` + "\n}",
		`strdup("atg_split_new is not available in this libtorch (libtorch 1.13.0)"); return nullptr;`,
		`strdup("atg_count is not available in this libtorch (libtorch 1.13.0)"); return {};`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("guarded source lacks %q\n%s", want, out)
		}
	}
	// Guarding is idempotent on the structure: the result still parses into the same functions.
	if len(functions(out)) != 4 {
		t.Errorf("guarded source has %d functions, want 4", len(functions(out)))
	}
}

func TestParseDiagnostics(t *testing.T) {
	out := `In file included from torch_api.cpp:1:
torch_api_generated.cpp.h: In function ‘void atg__cslt_compress(at::Tensor**, tensor)’:
torch_api_generated.cpp.h:626:29: error: ‘_cslt_compress’ is not a member of ‘torch’
  626 |     auto outputs__ = torch::_cslt_compress(*input);
torch_api.h:20:5: note: in definition of macro ‘PROTECT’
/usr/include/c++/12/tuple: In instantiation of ‘struct std::_Nth_type<5>’:
/usr/include/c++/12/tuple:1401:5:   required by substitution of ‘template<...>’
torch_api_generated.cpp.h:1458:3:   required from here
/usr/include/c++/12/tuple:1357:25: error: static assertion failed: tuple index must be in range
/root/x/libtch/torch_api.cpp:88:3: error: ‘foo’ was not declared in this scope
`
	locs, funcs := parseDiagnostics(out)
	want := []loc{{"torch_api_generated.cpp.h", 626}, {"torch_api_generated.cpp.h", 1458}, {"torch_api.cpp", 88}}
	if !reflect.DeepEqual(locs, want) {
		t.Fatalf("locs = %v, want %v", locs, want)
	}
	if !funcs["torch_api_generated.cpp.h"]["atg__cslt_compress"] {
		t.Fatalf("funcs = %v", funcs)
	}
}
