// compressor: command-line entry point (commands are defined in commands.cpp).
#include "compressor/cli/commands.h"

int main(int argc, char** argv) { return compressor::cli::run_cli(argc, argv); }
