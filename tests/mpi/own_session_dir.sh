#!/bin/sh
# own_session_dir.sh COMMAND...: runs COMMAND (an mpirun, or a timeout around one) with an Open
# MPI session directory of its own under /tmp, removed afterwards, and exits with COMMAND's
# status. mpiruns that ctest starts at the same moment otherwise race to create the shared
# /tmp/ompi.HOST.UID and one fails with "A call to mkdir was unable to create the desired
# directory ... File exists" (open-mpi/ompi#8510). The folder is short: Open MPI puts Unix
# sockets under it, whose paths are limited to about 100 characters.
dir=$(mktemp -d /tmp/devo-ompi.XXXXXX) || exit 1
TMPDIR=$dir "$@"
status=$?
rm -rf "$dir"
exit $status
