//go:build cuda && !windows

package gpu

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

static void* sn_dlopen(const char* path) { return dlopen(path, RTLD_NOW | RTLD_GLOBAL); }
static const char* sn_dlerror(void) { return dlerror(); }
static void* sn_dlsym(void* lib, const char* name) { return dlsym(lib, name); }
*/
import "C"

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"unsafe"
)

// dlOpen loads a shared library by path or soname.
func dlOpen(path string) (unsafe.Pointer, error) {
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	lib := C.sn_dlopen(cs)
	if lib == nil {
		return nil, errors.New(C.GoString(C.sn_dlerror()))
	}
	return lib, nil
}

// dlSym returns a symbol's address, nil when the library lacks it.
func dlSym(lib unsafe.Pointer, name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.sn_dlsym(lib, cs)
}

// cublasLtBeside names the cuBLASLt file next to a cuBLAS file.
func cublasLtBeside(path string) string {
	dir, name := filepath.Split(path)
	if !strings.HasPrefix(name, "libcublas.so.") {
		return ""
	}
	return filepath.Join(dir, strings.Replace(name, "libcublas.so.", "libcublasLt.so.", 1))
}

// cublasCandidates lists what to try, in order: $SENSENOVA_CUBLAS (a file),
// the folders of $CUBLAS_LIB_DIR and $LD_LIBRARY_PATH, the app's own folders
// (next to the engine, and ../lib/sensenova-studio where the .deb puts
// bundled libraries), the usual pip wheel and toolkit folders, each with
// .so.13, .12 and .11, then the bare sonames (the ld.so cache).
func cublasCandidates() []string {
	var out []string
	if p := os.Getenv("SENSENOVA_CUBLAS"); p != "" {
		out = append(out, p)
	}
	var dirs []string
	for _, env := range []string{"CUBLAS_LIB_DIR", "LD_LIBRARY_PATH"} {
		for _, d := range filepath.SplitList(os.Getenv(env)) {
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		dirs = append(dirs, dir, filepath.Join(dir, "..", "lib", "sensenova-studio"))
	}
	patterns := []string{
		"/usr/local/lib/python3*/dist-packages/nvidia/cu13/lib", "/usr/local/lib/python3*/dist-packages/nvidia/cublas/lib",
		"/usr/lib/python3*/site-packages/nvidia/cu13/lib", "/usr/lib/python3*/site-packages/nvidia/cublas/lib",
		"/opt/*/.venv/lib/python3*/site-packages/nvidia/cu13/lib", "/opt/*/.venv/lib/python3*/site-packages/nvidia/cublas/lib",
		"/usr/local/cuda/lib64", "/usr/local/cuda-*/lib64",
	}
	if home, err := os.UserHomeDir(); err == nil {
		patterns = append(patterns, filepath.Join(home, ".local/lib/python3*/site-packages/nvidia/cublas/lib"))
	}
	for _, pattern := range patterns {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	for _, v := range []string{"13", "12", "11"} {
		for _, d := range dirs {
			p := filepath.Join(d, "libcublas.so."+v)
			if _, err := os.Stat(p); err == nil {
				out = append(out, p)
			}
		}
	}
	for _, v := range []string{"13", "12", "11"} {
		out = append(out, "libcublas.so."+v)
	}
	return out
}
