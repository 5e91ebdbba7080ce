/* Shared by the XDP program: which IP protocols it counts. Edit it and rebuild: the plugin
 * knows the program includes it (clang's dependency file) and builds the object again. */
#pragma once
#define COUNTED_PROTOCOLS 256
