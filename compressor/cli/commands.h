#pragma once
namespace compressor::cli {
// Parses the command line, runs the command, maps errors to exit codes
// (0 ok, 1 usage, 2 bad input, 3 accuracy gate failed, 4 internal error).
int run_cli(int argc, char** argv);
}  // namespace compressor::cli
