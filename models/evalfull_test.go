//go:build accuracy

package models_test

// evalSample: under -tags accuracy (`make accuracy`) the whole test set.
const evalSample = 10000
