package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lander/indexer/arbitrate"
	"lander/indexer/pixelcolor"
)

// TestLoadArbitration reads back what writeFit wrote, and refuses a
// directory with a file missing or unreadable, naming it.
func TestLoadArbitration(t *testing.T) {
	shippedCal, err := arbitrate.DefaultCalibration()
	if err != nil {
		t.Fatal(err)
	}
	h, err := arbitrate.DefaultHierarchy()
	if err != nil {
		t.Fatal(err)
	}
	// A fitted calibration with a VLM's curve, which the shipped one lacks.
	cal := *shippedCal
	cal.Curves = map[string]arbitrate.Curve{"vlm/color": {X: []float64{0.5, 0.9}, Y: []float64{0.2, 0.7}, N: []int{60, 60}}}
	dir := t.TempDir()
	if err := writeFit(dir, h, &cal, pixelcolor.Shipped()); err != nil {
		t.Fatal(err)
	}
	arb, clf, err := loadArbitration(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !arb.Calibrates("vlm") || arbitrate.Shipped().Calibrates("vlm") {
		t.Error("the fitted VLM curve was not read, or the shipped arbitration has one")
	}
	if arb.PixelWeight() != shippedCal.PixelWeight || len(clf.Classes) != len(pixelcolor.Shipped().Classes) {
		t.Errorf("pixel weight %v, %d classes: not what was written", arb.PixelWeight(), len(clf.Classes))
	}
	if a, c, err := loadArbitration(""); err != nil || a == nil || c == nil || a.Calibrates("vlm") {
		t.Errorf("no dir: %v, %v, %v; want the shipped arbitration", a, c, err)
	}

	for _, tt := range []struct {
		name, file, content, want string
	}{
		{"missing calibration", "calibration.json", "", "calibration.json: no such file"},
		{"corrupt hierarchy", "hierarchy.json", "{", "parse hierarchy"},
		{"bad curve", "calibration.json", `{"curves":{"model/color":{"x":[0.9,0.5],"y":[0.1,0.2]}}}`, "not increasing"},
		{"corrupt classifier", "classifier.json", "[]", "parse classifier"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			if err := writeFit(d, h, &cal, pixelcolor.Shipped()); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(d, tt.file)
			if tt.content == "" {
				err = os.Remove(path)
			} else {
				err = os.WriteFile(path, []byte(tt.content), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, _, err := loadArbitration(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// TestIndexArbitrationFlag checks that index and eval attributes read
// --arbitration, and refuse a directory without a fitted arbitration
// before any model loads or catalog row is read.
func TestIndexArbitrationFlag(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-fit")
	for _, args := range [][]string{
		{"index", "--catalog", filepath.Join(dir, "catalog.jsonl"), "--data", filepath.Join(dir, "data"), "--arbitration", missing},
		{"eval", "attributes", "--catalog", filepath.Join(dir, "catalog"), "--arbitration", missing},
	} {
		var out bytes.Buffer
		code := run(context.Background(), args, &out, &out, nil)
		if code == 0 || !strings.Contains(out.String(), "load arbitration") || !strings.Contains(out.String(), "no-fit") {
			t.Errorf("%s: exit %d, %q; want an error naming the missing arbitration", args[0], code, out.String())
		}
	}
}
