// Package pins holds the test that guards the dependency versions zerodrop is
// built and verified with.
package pins
