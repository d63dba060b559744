// Typed exceptions: every message names what failed, which file or object, and the bad value.
#pragma once
#include <stdexcept>
#include <string>

namespace moerge {

/// Base of all moerge errors; the CLI prints what() and exits non-zero.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad user input: a malformed file, a wrong shape, a missing tensor, NaN.
class InputError : public Error {
 public:
  using Error::Error;
};

/// The filesystem or HDF5 failed on input that was itself valid.
class IoError : public Error {
 public:
  using Error::Error;
};

/// An MPI call failed, or a peer rank went away.
class CommError : public Error {
 public:
  using Error::Error;
};

/// A bad flag, recipe key or option combination.
class ConfigError : public Error {
 public:
  using Error::Error;
};

}  // namespace moerge
