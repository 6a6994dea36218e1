/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iotpubctl: control and query iotpubd over D-Bus. Everything happens in ctl_main() (ctl.c). */
#include "ctl.h"

int main(int argc, char *argv[]) {
        return ctl_main(argc, argv);
}
