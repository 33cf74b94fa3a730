// Must NOT compile: a core header after postgres.h. `make check-headers`
// asserts that the compiler refuses it.
extern "C" {
#include "postgres.h"
}
#include "vecgo/core.h"

int main() { return 0; }
