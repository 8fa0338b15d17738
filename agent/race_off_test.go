//go:build !race

package agent

// raceEnabled: the race detector allocates where the code does not.
const raceEnabled = false
