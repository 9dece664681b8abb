package encoder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// DefaultLibraryPath is the ONNX Runtime shared library that
// scripts/setup-ort.sh installs, relative to the repository root.
const DefaultLibraryPath = "lib/libonnxruntime.so.1"

// The ONNX Runtime environment of onnxruntime_go is process-global: one
// library, loaded once. env reference-counts it across encoders; the first
// acquire loads the library, the last release unloads it. Other packages of
// this process must not call ort.InitializeEnvironment or
// ort.DestroyEnvironment themselves.
var env struct {
	mu   sync.Mutex
	refs int
	path string // absolute path of the loaded library
}

// acquireRuntime loads the ONNX Runtime library at path, or checks that the
// library already loaded is the same file, and takes a reference on it.
func acquireRuntime(path string) error {
	if path == "" {
		path = DefaultLibraryPath
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("onnxruntime library %q: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("onnxruntime library %q: not found; run scripts/setup-ort.sh or set ONNXRUNTIME_LIB", path)
		}
		return fmt.Errorf("onnxruntime library %q: %w", path, err)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.refs > 0 {
		if abs != env.path {
			return fmt.Errorf("onnxruntime library %q: the process already uses %q", path, env.path)
		}
		env.refs++
		return nil
	}
	if ort.IsInitialized() {
		return fmt.Errorf("onnxruntime library %q: the environment was initialised outside package encoder", path)
	}
	ort.SetSharedLibraryPath(abs)
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return fmt.Errorf("onnxruntime library %q: cannot load (is it ONNX Runtime for this platform?): %w", path, err)
	}
	env.refs, env.path = 1, abs
	return nil
}

// releaseRuntime drops a reference taken by acquireRuntime and unloads the
// library with the last one.
func releaseRuntime() error {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.refs == 0 {
		return nil
	}
	env.refs--
	if env.refs > 0 {
		return nil
	}
	env.path = ""
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("release onnxruntime: %w", err)
	}
	return nil
}
