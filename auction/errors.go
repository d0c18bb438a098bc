package auction

import "errors"

// ErrInvalidConfig is wrapped by Config.Validate when a field is out of
// range; the message names the field.
var ErrInvalidConfig = errors.New("invalid auction config")
