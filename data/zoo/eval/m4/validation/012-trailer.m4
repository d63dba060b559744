dnl This file is part of Autoconf.			-*- Autoconf -*-
dnl This file exists solely to invoke _AC_FINALIZE at the right time.
dnl See the definition of _AC_FINALIZE (in general.m4) for further explanation.
m4_wrap([_AC_FINALIZE])dnl
