# fish completion for mdrun(1).
#
# Installed in share/fish/vendor_completions.d, or copy it to
# ~/.config/fish/completions/. It completes the commands, each command's
# options and their fixed values (--to, --color, store's subcommands),
# documents (folders and .md, .Rmd, .qmd files), files for -o/--output,
# --config and --junit, folders for --store, git revisions for
# --changed-since and git remotes for push/pull. fish completes both
# --opt VALUE and --opt=VALUE, as mdrun takes both.

# The command: the first argument, when it names one; any other first
# argument is a document to render (the default command).
function __mdrun_command
    set -l tokens (commandline -opc)
    if set -q tokens[2]; and contains -- $tokens[2] render check plan strip watch store gc push pull kernels
        echo $tokens[2]
    else
        echo render
    end
end

# __mdrun_using COMMAND...: the command is one of them.
function __mdrun_using
    contains -- (__mdrun_command) $argv
end

# Nothing typed yet after mdrun but the word being completed.
function __mdrun_first
    set -l tokens (commandline -opc)
    not set -q tokens[2]
end

# Folders (searched for documents) and Markdown, R Markdown and Quarto
# files, from fish's own file completion of the word being typed.
function __mdrun_documents
    set -l token (commandline -ct)
    complete -C "__mdrun_no_such_command $token" |
        string match -r -- '^[^\t]*(?:/|\.md|\.Rmd|\.qmd)(?:\t.*)?$'
end

# store: no subcommand given yet.
function __mdrun_store_wants_verb
    set -l tokens (commandline -opc)
    set -l prev
    set -e tokens[1..2]
    for t in $tokens
        # An option, or --store's value, is not the subcommand.
        if not string match -q -- '-*' $t; and test "$prev" != --store
            return 1
        end
        set prev $t
    end
    return 0
end

# store: the word is the REF of show, path or rm.
function __mdrun_store_wants_ref
    set -l tokens (commandline -opc)
    contains -- $tokens[-1] show path rm
end

function __mdrun_revisions
    echo HEAD
    git for-each-ref --format='%(refname:short)' refs/heads refs/remotes refs/tags 2>/dev/null
end

function __mdrun_remotes
    for remote in (git remote 2>/dev/null)
        printf '%s\tgit remote\n' $remote
    end
    __fish_complete_directories (commandline -ct) repository
end

complete -c mdrun -f

# Commands, in place of the first argument.
complete -c mdrun -n __mdrun_first -a render -d 'Render documents (the default)'
complete -c mdrun -n __mdrun_first -a check -d 'Are the outputs current? (CI)'
complete -c mdrun -n __mdrun_first -a plan -d 'What would run and why'
complete -c mdrun -n __mdrun_first -a strip -d 'Remove the outputs rendering added'
complete -c mdrun -n __mdrun_first -a watch -d 'Render again on every save'
complete -c mdrun -n __mdrun_first -a store -d 'Inspect the store'
complete -c mdrun -n __mdrun_first -a gc -d 'Remove what no document uses'
complete -c mdrun -n __mdrun_first -a push -d 'Send the store to a git remote'
complete -c mdrun -n __mdrun_first -a pull -d 'Take the store from a git remote'
complete -c mdrun -n __mdrun_first -a kernels -d 'The Jupyter kernels installed'
complete -c mdrun -n __mdrun_first -l version -d 'Print the version'
complete -c mdrun -s h -l help -d 'Print the usage'

# Documents.
complete -c mdrun -n '__mdrun_using render check plan strip watch gc' -a '(__mdrun_documents)'

# render's options, which watch takes too; check shares the ones from
# --store on.
complete -c mdrun -n '__mdrun_using watch' -l snapshots -x -d 'Stopped copies kept per python session'
complete -c mdrun -n '__mdrun_using watch' -l snapshot-memory -x -d 'Memory the copies may hold on their own'
complete -c mdrun -n '__mdrun_using render watch' -s o -l output -r -F -d 'Write the result to OUT'
complete -c mdrun -n '__mdrun_using render watch' -s i -l in-place -d 'Rewrite each document'
complete -c mdrun -n '__mdrun_using render watch' -l to -x -a 'markdown\t"the default" html\t"one self-contained page" json\t"every block\'s results" ipynb\t"a Jupyter notebook"' -d 'Output format'
complete -c mdrun -n '__mdrun_using render watch' -l unsafe-html -d 'Let raw HTML into an HTML report'
complete -c mdrun -n '__mdrun_using render watch' -s k -l keep-going -d 'Go on after a failure'
complete -c mdrun -n '__mdrun_using render watch plan' -l rebuild -d 'Run every block (or --rebuild=NAME) again'
complete -c mdrun -n '__mdrun_using render watch check plan' -l store -x -a '(__fish_complete_directories)' -d 'The store folder'
complete -c mdrun -n '__mdrun_using render watch check plan' -l config -r -F -d 'Interpreters for more languages'
complete -c mdrun -n '__mdrun_using render watch check plan' -l all -d 'Also run plain blocks'
complete -c mdrun -n '__mdrun_using render watch check' -l timeout -x -d 'Kill a block after SEC seconds'
complete -c mdrun -n '__mdrun_using render watch check plan' -l max-output -x -d 'Bytes kept of stdout and stderr'
complete -c mdrun -n '__mdrun_using render watch check' -l max-write -x -d 'Bytes kept of each file written'
complete -c mdrun -n '__mdrun_using render watch check' -l no-track -d 'Record no files blocks read or write'
complete -c mdrun -n '__mdrun_using render watch check' -s j -l jobs -x -d 'Realize on up to N threads'
complete -c mdrun -n '__mdrun_using render watch check' -l color -x -a 'auto always never' -d 'Colour and live progress'
complete -c mdrun -n '__mdrun_using render watch check' -s q -l quiet -d 'Print errors only'
complete -c mdrun -n '__mdrun_using render watch check' -s v -l verbose -d 'Name options that mean nothing here'

# check
complete -c mdrun -n '__mdrun_using check' -l fresh -d 'Run every block in a new store'
complete -c mdrun -n '__mdrun_using check' -l repeat -d 'Report non-deterministic blocks'
complete -c mdrun -n '__mdrun_using check' -l junit -r -F -d 'Write a JUnit XML report'
complete -c mdrun -n '__mdrun_using check' -l changed-since -x -a '(__mdrun_revisions)' -d 'Only documents changed since REV'
complete -c mdrun -n '__mdrun_using check' -l shard -x -d 'Only the I-th of N slices (I/N)'
complete -c mdrun -n '__mdrun_using check' -s o -l output -r -F -d 'Compare the document before it with OUT'

# plan
complete -c mdrun -n '__mdrun_using plan' -l json -d 'Print the plan as JSON'

# strip
complete -c mdrun -n '__mdrun_using strip' -l check -d 'Change nothing; exit 1 if outputs'
complete -c mdrun -n '__mdrun_using strip' -l all -d 'Also plain blocks\' outputs'
complete -c mdrun -n '__mdrun_using strip' -s o -l output -r -F -d 'Write the source to OUT'
complete -c mdrun -n '__mdrun_using strip' -s q -l quiet -d 'Print errors only'

# store
complete -c mdrun -n '__mdrun_using store gc push pull' -l store -x -a '(__fish_complete_directories)' -d 'The store folder'
complete -c mdrun -n '__mdrun_using store' -l all -d 'REF names a block rendered with --all'
complete -c mdrun -n '__mdrun_using store; and __mdrun_store_wants_verb' -a ls -d 'Every key'
complete -c mdrun -n '__mdrun_using store; and __mdrun_store_wants_verb' -a show -d 'A key and its realizations'
complete -c mdrun -n '__mdrun_using store; and __mdrun_store_wants_verb' -a path -d 'The folder of a realization'
complete -c mdrun -n '__mdrun_using store; and __mdrun_store_wants_verb' -a verify -d 'Recompute every hash'
complete -c mdrun -n '__mdrun_using store; and __mdrun_store_wants_verb' -a rm -d 'Remove a key'
complete -c mdrun -n '__mdrun_using store; and __mdrun_store_wants_verb' -a migrate -d 'Bring a format 1 store to format 2'
complete -c mdrun -n '__mdrun_using store; and __mdrun_store_wants_ref' -a '(__mdrun_documents)'

# gc
complete -c mdrun -n '__mdrun_using gc' -l dry-run -d 'Say what would be removed'
complete -c mdrun -n '__mdrun_using gc' -l keep-last -x -d 'Keep the N newest realizations'
complete -c mdrun -n '__mdrun_using gc' -l older-than -x -d 'Only keys last run DAYS days ago'
complete -c mdrun -n '__mdrun_using gc' -l all -d 'The documents were rendered with --all'

# push, pull
complete -c mdrun -n '__mdrun_using push pull' -s q -l quiet -d 'No summary line'
complete -c mdrun -n '__mdrun_using push pull' -a '(__mdrun_remotes)'

# kernels
complete -c mdrun -n '__mdrun_using kernels' -l config -r -F -d 'The config that gives kernels'
