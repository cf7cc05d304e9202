# bash completion for attestctl(1).
#
# Everything offered is read from attestctl itself when TAB is pressed, so it follows the
# command table (src/admin/cli_commands.c) without a copy of it here: the global options from
# the usage at the top of `attestctl help`, the command words from its list (nested words one
# at a time: provider <TAB> gives create, list, show, ...), and a command's options and
# arguments from its usage line, `attestctl help WORDS`. A value is completed by the name
# its usage gives it: DIR as a directory; FILE, ...-FILE, *.pem, F, KEK, BUNDLE and PATH as
# file names; choices such as on|off, RS256|ES256 or sgx|oe|snp|tdx|tpm as those words; other
# names (NAME, URL, SECONDS, ...) as nothing.

# attestctl (the one being completed) with its output; errors are dropped.
_attestctl_run()
{
    "$_attestctl_bin" "$@" 2>/dev/null
}

# A usage (from `attestctl help [WORDS]`: its first lines, up to the first blank one) as one
# line, without "usage: attestctl" and the command's words ($1).
_attestctl_usage()
{
    # shellcheck disable=SC2086 # the command's words, one argument each
    _attestctl_run help $1 | awk -v words="usage: attestctl $1" '
        NR == 1 { line = substr($0, length(words) + 1); next }
        /^$/ { exit }
        { line = line " " $0 }
        END { print line }'
}

# Parse a usage into _attestctl_opts (option names), _attestctl_vals (the name of each one's
# value, "" for a switch) and _attestctl_pos (the names of the positional arguments, in
# order). An option's value is the word right after it, in its group: "[--direct] COMMAND"
# is a switch and a positional.
_attestctl_parse()
{
    local usage=$1 t i
    local -a toks
    usage=${usage//\[/ [ } usage=${usage//\]/ ] } usage=${usage//\(/ ( } usage=${usage//\)/ ) }
    read -r -a toks <<<"$usage"
    _attestctl_opts=() _attestctl_vals=() _attestctl_pos=()
    for ((i = 0; i < ${#toks[@]}; i++)); do
        t=${toks[i]}
        case $t in
        '|' | '...' | '[' | ']' | '(' | ')') ;;
        --*)
            _attestctl_opts+=("$t")
            case ${toks[i + 1]-|} in
            --* | '|' | '...' | '[' | ']' | '(' | ')') _attestctl_vals+=("") ;;
            *)
                _attestctl_vals+=("${toks[i + 1]}")
                ((i++))
                ;;
            esac
            ;;
        *) _attestctl_pos+=("$t") ;;
        esac
    done
}

# The value name of option $1 in the last parse, or 1 (false) when it takes none.
_attestctl_value_of()
{
    local i
    for ((i = 0; i < ${#_attestctl_opts[@]}; i++)); do
        if [[ ${_attestctl_opts[i]} == "$1" && ${_attestctl_vals[i]} ]]; then
            printf '%s\n' "${_attestctl_vals[i]}"
            return 0
        fi
    done
    return 1
}

# Complete $2 as a value named $1 (see the top of this file).
_attestctl_value()
{
    local name=$1 cur=$2 alt
    local -a alts choices=()
    case $name in
    DIR)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        ;;
    *FILE* | *.pem | F | KEK | BUNDLE | PATH)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        ;;
    *'|'*)
        IFS='|' read -r -a alts <<<"$name"
        for alt in "${alts[@]}"; do
            # NAME, ID: placeholders, not words to type; '*': all providers, left to the user
            if [[ ! $alt =~ ^[A-Z][A-Z_-]*$ && $alt != '*' ]]; then
                choices+=("$alt")
            fi
        done
        mapfile -t COMPREPLY < <(compgen -W "${choices[*]}" -- "$cur")
        ;;
    *) COMPREPLY=() ;;
    esac
}

_attestctl()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local _attestctl_bin=${COMP_WORDS[0]} i w value
    local -a _attestctl_opts _attestctl_vals _attestctl_pos typed=() commands words
    COMPREPLY=()
    if [[ $_attestctl_bin != */* ]]; then
        _attestctl_bin=$(type -P "$_attestctl_bin")
    fi
    [[ -x $_attestctl_bin ]] || return 0

    # The global options come before the command.
    _attestctl_parse "$(_attestctl_usage '')"
    local -a globals=("${_attestctl_opts[@]}" --help --version)
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if ((${#typed[@]} == 0)) && [[ $w == -* ]]; then
            if _attestctl_value_of "$w" >/dev/null; then
                ((i++))
            fi
            continue
        fi
        typed+=("$w")
    done
    if ((${#typed[@]} == 0)) && value=$(_attestctl_value_of "$prev"); then
        _attestctl_value "$value" "$cur"
        return 0
    fi
    if ((${#typed[@]} == 0)) && [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${globals[*]}" -- "$cur")
        return 0
    fi

    # The command: the longest one whose words were typed.
    mapfile -t commands < <(_attestctl_run help | awk -F'  +' '/^  [a-z]/ { print $2 }')
    local help=false command="" n=0 c
    if [[ ${typed[0]-} == help ]]; then
        help=true
        typed=("${typed[@]:1}")
    fi
    for c in "${commands[@]}"; do
        read -r -a words <<<"$c"
        if ((${#words[@]} > n && ${#words[@]} <= ${#typed[@]})) &&
            [[ "${typed[*]:0:${#words[@]}}" == "$c" ]]; then
            command=$c
            n=${#words[@]}
        fi
    done
    if [[ -z $command ]] || $help; then
        # the next word of every command that starts with the words typed
        local -a next=()
        [[ ${#typed[@]} -eq 0 ]] && ! $help && next+=(help)
        for c in "${commands[@]}"; do
            read -r -a words <<<"$c"
            if ((${#words[@]} > ${#typed[@]})) &&
                [[ "${words[*]:0:${#typed[@]}}" == "${typed[*]}" ]]; then
                next+=("${words[${#typed[@]}]}")
            fi
        done
        mapfile -t COMPREPLY < <(compgen -W "${next[*]}" -- "$cur" | sort -u)
        return 0
    fi

    # The command's arguments: an option's value, an option, or the next positional.
    _attestctl_parse "$(_attestctl_usage "$command")"
    if ((${#typed[@]} > n)) && value=$(_attestctl_value_of "$prev"); then
        _attestctl_value "$value" "$cur"
        return 0
    fi
    local pos=0
    for ((i = n; i < ${#typed[@]}; i++)); do
        if [[ ${typed[i]} == -* ]]; then
            if _attestctl_value_of "${typed[i]}" >/dev/null; then
                ((i++))
            fi
        else
            ((pos++))
        fi
    done
    if [[ $cur != -* ]] && ((pos < ${#_attestctl_pos[@]})); then
        _attestctl_value "${_attestctl_pos[pos]}" "$cur"
        return 0
    fi
    mapfile -t COMPREPLY < <(compgen -W "${_attestctl_opts[*]} --help --json --table" -- "$cur" |
        sort -u)
}

complete -F _attestctl attestctl
