               ok=yes
            fi
        fi
    fi
  fi
  if test $ok = yes; then
    GPGRT_CFLAGS=`$GPGRT_CONFIG --cflags`
    GPGRT_LIBS=`$GPGRT_CONFIG --libs`
    GPGRT_MT_CFLAGS=`$GPGRT_CONFIG --variable=mtcflags 2>/dev/null`
    GPGRT_MT_CFLAGS="$GPGRT_CFLAGS${GPGRT_CFLAGS:+ }$GPGRT_MT_CFLAGS"
    GPGRT_MT_LIBS=`$GPGRT_CONFIG --variable=mtlibs 2>/dev/null`
    GPGRT_MT_LIBS="$GPGRT_LIBS${GPGRT_LIBS:+ }$GPGRT_MT_LIBS"
    AC_MSG_RESULT([yes ($gpgrt_config_version)])
    ifelse([$2], , :, [$2])
    gpgrt_config_host=`$GPGRT_CONFIG --variable=host 2>/dev/null || echo none`
    if test x"$gpgrt_config_host" != xnone ; then
      if test x"$gpgrt_config_host" != x"$host" ; then
  AC_MSG_WARN([[
***
*** The config script "$GPGRT_CONFIG" is for $gpgrt_config_host
*** and thus may not match the used host $host.
***]])
        gpg_config_script_warn="$gpg_config_script_warn libgpgrt"
      fi
    fi
  else
    GPGRT_CFLAGS=""
    GPGRT_LIBS=""
    GPGRT_MT_CFLAGS=""
    GPGRT_MT_LIBS=""
    AC_MSG_RESULT(no)
    ifelse([$3], , :, [$3])
  fi
  AC_SUBST(GPGRT_CFLAGS)
  AC_SUBST(GPGRT_LIBS)
  AC_SUBST(GPGRT_MT_CFLAGS)
  AC_SUBST(GPGRT_MT_LIBS)
])
