/* pto2_version(): the library's version, for comparing with the header's. */
#include "pto2/pto2.h"

const char *pto2_version(void) { return PTO2_VERSION_STRING; }

int pto2_version_number(void) { return PTO2_VERSION; }
