#include "tests.h"
int main(void) { return 0; }
