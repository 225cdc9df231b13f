#ifndef PTO2_VERSION_H
#define PTO2_VERSION_H

#define PTO2_VERSION_MAJOR 0
#define PTO2_VERSION_MINOR 1
#define PTO2_VERSION_PATCH 0

#if defined(__GNUC__) || defined(__clang__)
#define PTO2_API __attribute__((visibility("default")))
#define PTO2_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define PTO2_API
#define PTO2_WARN_UNUSED
#endif

#endif /* PTO2_VERSION_H */
