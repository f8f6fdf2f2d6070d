#include "l4/cli.h"

int main(int argc, char** argv) { return edge::l4::Lb4Main(argc, argv); }
