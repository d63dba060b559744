                dialog_saveoptions = 'Save Options As';
                dialog_ini_filename = 'Name of INI file';

                {Window list dialog.}
                dialog_windowlist = 'Window List';
                label_wndlist_windows = '~W~indows';
                msg_windowlist_hidden = 'hidden';

                {Help files dialog.}
                dialog_helpfiles = 'Install Help Files';
                label_helpfiles_helpfiles = '~H~elp files';

                {Install help file.}
                dialog_installhelpfile = 'Install a help file';
                label_installhelpfile_filename = '~H~elp file name';

                {Topic title dialog.}
                dialog_topictitle = 'Topic title';
                label_topictitle_title = 'Title';

                { About window }
{                dialog_about = 'About';
                label_about_compilerversion = 'Compiler Version';
                label_about_debugger = 'Debugger';}

                msg_errorparsingtoolparams = 'Error parsing tool params.';
                msg_executingtool = 'Executing tool %s ...';
                msg_errorreadingoutput = 'Error reading output.';
                msg_executingfilterfor = 'Executing filter for %s ...';
                msg_cantfindfilteredoutput = 'Can''t find filtered output.';
                msg_errorprocessingfilteredoutput = 'Error processing filtered output.';
                msg_errorexecutingfilter = 'Error executing filter %s';
                msg_errorexecutingtool = 'Error executing tool %s';
                msg_filterexecutionsuccessfulexitcodeis = 'Filter execution successful. Exit code = %d';
                msg_toolexecutionsuccessfulexitcodeis = 'Tool execution successful. Exit code = %d';
                msg_xmustbesettoyforz_doyouwanttochangethis =
                  '%s must be set to "%s" for %s. '+
                  'Do you want to change this option automatically?';

                dialog_greparguments = 'Grep arguments';
