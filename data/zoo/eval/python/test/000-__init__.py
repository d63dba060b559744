from .interval_arithmetic import interval
from .lib_interval import (Abs, exp, log, log10, sin, cos, tan, sqrt,
                          imin, imax, sinh, cosh, tanh, acosh, asinh, atanh,
                          asin, acos, atan, ceil, floor, And, Or)

__all__ = [
    'interval',

    'Abs', 'exp', 'log', 'log10', 'sin', 'cos', 'tan', 'sqrt', 'imin', 'imax',
    'sinh', 'cosh', 'tanh', 'acosh', 'asinh', 'atanh', 'asin', 'acos', 'atan',
    'ceil', 'floor', 'And', 'Or',
]
