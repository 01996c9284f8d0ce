package nn

import "errors"

// ErrInput is wrapped by every model's error for a request it cannot run (bad token
// ids, too long an input, options out of range), so that a server can tell a
// caller's mistake from its own without knowing the model.
var ErrInput = errors.New("invalid input")

// ErrOption is wrapped by a model's error for an option it does not support
// (Settings.Refuse).
var ErrOption = errors.New("unsupported option")
