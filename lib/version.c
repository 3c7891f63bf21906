/* tern_version (tern/version.h). */
#include "tern/version.h"

const tern_version_info *tern_version(void)
{
    static const tern_version_info v = {TERN_VERSION_MAJOR, TERN_VERSION_MINOR, TERN_VERSION_PATCH, TERN_VERSION};
    return &v;
}
