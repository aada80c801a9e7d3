//go:build cuda && windows

package gpu

/*
#include <windows.h>
#include <stdlib.h>

static void* sn_load(const char* path) { return (void*)LoadLibraryExA(path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH); }
static unsigned long sn_last_error(void) { return (unsigned long)GetLastError(); }
static void* sn_sym(void* lib, const char* name) { return (void*)GetProcAddress((HMODULE)lib, name); }
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"
)

// dlOpen loads a DLL by path or name (a full path makes Windows look for
// its dependencies, such as cuBLASLt, in the same folder).
func dlOpen(path string) (unsafe.Pointer, error) {
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	lib := C.sn_load(cs)
	if lib == nil {
		return nil, fmt.Errorf("LoadLibrary: Windows error %d", uint64(C.sn_last_error()))
	}
	return lib, nil
}

// dlSym returns a symbol's address, nil when the DLL lacks it.
func dlSym(lib unsafe.Pointer, name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.sn_sym(lib, cs)
}

// cublasLtBeside names the cuBLASLt DLL next to a cuBLAS DLL.
func cublasLtBeside(path string) string {
	dir, name := filepath.Split(path)
	if !strings.HasPrefix(strings.ToLower(name), "cublas64_") {
		return ""
	}
	return filepath.Join(dir, "cublasLt64_"+name[len("cublas64_"):])
}

// cublasCandidates lists what to try, in order: %SENSENOVA_CUBLAS% (a file),
// %CUBLAS_LIB_DIR%, the app's own folder (an installer may bundle NVIDIA's
// redistributable cuBLAS there), the toolkit's bin folders (%CUDA_PATH% and
// %CUDA_PATH_V*%), pip wheel folders of the user's Pythons and the folders
// on %PATH%, each with cublas64_13.dll, _12 and _11, then the bare names
// (Windows' own search order).
func cublasCandidates() []string {
	var out []string
	if p := os.Getenv("SENSENOVA_CUBLAS"); p != "" {
		out = append(out, p)
	}
	var dirs []string
	if d := os.Getenv("CUBLAS_LIB_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if strings.EqualFold(name, "CUDA_PATH") || strings.HasPrefix(strings.ToUpper(name), "CUDA_PATH_V") {
			dirs = append(dirs, filepath.Join(value, "bin"), filepath.Join(value, "bin", "x64"))
		}
	}
	if local := os.Getenv("LOCALAPPDATA"); local != "" {
		m, _ := filepath.Glob(filepath.Join(local, "Programs", "Python", "Python3*", "Lib", "site-packages", "nvidia", "cublas", "bin"))
		dirs = append(dirs, m...)
	}
	dirs = append(dirs, filepath.SplitList(os.Getenv("PATH"))...)
	for _, v := range []string{"13", "12", "11"} {
		for _, d := range dirs {
			if d == "" {
				continue
			}
			p := filepath.Join(d, "cublas64_"+v+".dll")
			if _, err := os.Stat(p); err == nil {
				out = append(out, p)
			}
		}
	}
	for _, v := range []string{"13", "12", "11"} {
		out = append(out, "cublas64_"+v+".dll")
	}
	return out
}
