//go:build !accuracy

package models_test

// evalSample: `make test` classifies the first 2,000 test images with each
// shipped model (a fifth of the set: about a minute on two busy cores);
// `make accuracy` builds with -tags accuracy for all 10,000.
const evalSample = 2000
