/* SPDX-License-Identifier: MIT */
/* The default paths, defined once for the daemon and the command line. */
#pragma once

#define SLICEKEEPER_CONFIG_PATH "/etc/slicekeeper/slicekeeperd.conf"
#define SLICEKEEPER_PIDFILES_DIR "/etc/slicekeeper/pidfiles.d"
#define SLICEKEEPER_RUNTIME_DIR "/run/slicekeeper"
#define SLICEKEEPER_CONTROL_SOCKET SLICEKEEPER_RUNTIME_DIR "/control.sock"
/* The dashboard's own files (meson installs src/web/page there); [Web] PageDir= */
#define SLICEKEEPER_PAGE_DIR "/usr/share/slicekeeper/page"
