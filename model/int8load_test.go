package model

import (
	"errors"
	"testing"
)

// TestLoadInt8File: Load of an int8 file says what it is, not which field
// of the float description the int8 one lacks.
func TestLoadInt8File(t *testing.T) {
	if _, err := Load("../models/fmnist-pre-int8.coatnet"); !errors.Is(err, ErrInt8) {
		t.Errorf("Load of an int8 file: %v", err)
	}
}
