package config

import "testing"

// TestDeployExample keeps deploy/lander.example.yaml loadable and valid.
func TestDeployExample(t *testing.T) {
	c := Default()
	if err := c.Load("../deploy/lander.example.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
