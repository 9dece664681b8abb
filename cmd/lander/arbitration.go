package main

import (
	"fmt"
	"os"
	"path/filepath"

	"lander/indexer/arbitrate"
	"lander/indexer/pixelcolor"
)

// loadArbitration returns the arbiter and the pixel colour classifier
// that lander eval attributes --fit wrote into dir (writeFit), or the
// ones shipped with the code when dir is empty. All three files must be
// there: a calibration is fitted to its hierarchy and classifier.
func loadArbitration(dir string) (*arbitrate.Arbiter, *pixelcolor.Classifier, error) {
	if dir == "" {
		return arbitrate.Shipped(), pixelcolor.Shipped(), nil
	}
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("load arbitration: %w", err)
		}
		return b, nil
	}
	b, err := read("hierarchy.json")
	if err != nil {
		return nil, nil, err
	}
	h, err := arbitrate.ParseHierarchy(b)
	if err != nil {
		return nil, nil, fmt.Errorf("load arbitration %s: %w", dir, err)
	}
	if b, err = read("calibration.json"); err != nil {
		return nil, nil, err
	}
	cal, err := arbitrate.ParseCalibration(b)
	if err != nil {
		return nil, nil, fmt.Errorf("load arbitration %s: %w", dir, err)
	}
	if b, err = read("classifier.json"); err != nil {
		return nil, nil, err
	}
	clf, err := pixelcolor.ParseClassifier(b)
	if err != nil {
		return nil, nil, fmt.Errorf("load arbitration %s: %w", dir, err)
	}
	return arbitrate.New(cal, h, nil), clf, nil
}
