// Package models holds the shipped demo models (see README.md). The int8
// Fashion-MNIST model is built into the coatnet binary, so the agent runs
// on its defaults with nothing installed beside it.
package models

import _ "embed"

// DemoName is the file name of the embedded demo model.
const DemoName = "fmnist-pre-int8.coatnet"

// Demo is the int8 Fashion-MNIST demo model file (fmnist-pre-int8.coatnet).
//
//go:embed fmnist-pre-int8.coatnet
var Demo []byte
