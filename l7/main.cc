#include "l7/server/cli.h"

int main(int argc, char** argv) { return edge::l7::Gw7Main(argc, argv); }
