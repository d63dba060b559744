=item @envvars = get_build_env_allowed()

Get an array with the allowed list of environment variables that can affect
the build, but are still not privacy revealing.

This is a deprecated alias for Dpkg::BuildInfo::get_build_env_allowed().

=cut

sub get_build_env_allowed {
    #warnings::warnif('deprecated',
    #    'Dpkg::Build::Info::get_build_env_allowed() is deprecated, ' .
    #    'use Dpkg::BuildInfo::get_build_env_allowed() instead');
    return Dpkg::BuildInfo::get_build_env_allowed();
}

=item @envvars = get_build_env_whitelist()

This is a deprecated alias for Dpkg::BuildInfo::get_build_env_allowed().

=cut

sub get_build_env_whitelist {
    warnings::warnif('deprecated',
        'Dpkg::Build::Info::get_build_env_whitelist() is deprecated, ' .
        'use Dpkg::BuildInfo::get_build_env_allowed() instead');
    return Dpkg::BuildInfo::get_build_env_allowed();
}

=back

=head1 CHANGES

=head2 Version 1.02 (dpkg 1.21.14)

Deprecate module: replaced by Dpkg::BuildInfo.

=head2 Version 1.01 (dpkg 1.20.1)

New function: get_build_env_allowed().

Deprecated function: get_build_env_whitelist().

=head2 Version 1.00 (dpkg 1.18.14)

Mark the module as public.

=cut

1;
