#include "compressor/runtime/kernels/cuda/emulation/emulation.h"

#include <setjmp.h>
#include <ucontext.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace compressor::cuda_emulation {

namespace {

// A fiber enters through makecontext/setcontext once; every later switch is _setjmp/_longjmp,
// which, unlike swapcontext, makes no system call (the signal mask is left alone), so a block's
// thousands of barrier and shuffle switches cost nanoseconds each.
struct Fiber {
  ucontext_t start{};
  jmp_buf resume{};
  bool started = false, done = false;
  dim3 index;
};

constexpr size_t kStackBytes = 256 * 1024;

struct Grid {
  dim3 grid, block, block_index;
  std::vector<Fiber> fibers;
  std::vector<std::unique_ptr<char[]>> stacks;
  std::vector<uint64_t> lanes;  // one exchange slot per thread of the block
  size_t current = 0;
  jmp_buf scheduler{};
  const std::function<void()>* body = nullptr;
};

Grid* running = nullptr;  // the grid being run (launches are synchronous and single-threaded)

Grid& grid_state() {
  if (!running) throw std::logic_error("CUDA emulation: a device function was called outside a launch");
  return *running;
}

void yield() {
  Grid& g = *running;
  if (_setjmp(g.fibers[g.current].resume) == 0) _longjmp(g.scheduler, 1);
}

void fiber_entry() {
  Grid& g = *running;
  (*g.body)();
  g.fibers[g.current].done = true;
  _longjmp(g.scheduler, 1);
}

int last_error = 0;

}  // namespace

const dim3& thread_index() { return grid_state().fibers[running->current].index; }
const dim3& block_index() { return grid_state().block_index; }
const dim3& block_dim() { return grid_state().block; }
const dim3& grid_dim() { return grid_state().grid; }

void syncthreads() { yield(); }

uint64_t warp_exchange(uint64_t value, unsigned source_lane) {
  Grid& g = grid_state();
  const size_t me = g.current;
  const size_t warp_base = me / 32 * 32;
  g.lanes[me] = value;
  yield();  // every lane has written
  const uint64_t got = g.lanes[warp_base + source_lane];
  yield();  // every lane has read before any writes again
  return got;
}

void run_grid(dim3 grid, dim3 block, const std::function<void()>& body) {
  if (running) throw std::logic_error("CUDA emulation: a launch inside a launch");
  const size_t threads = static_cast<size_t>(block.x) * block.y * block.z;
  if (threads == 0 || threads > 1024) throw std::invalid_argument("CUDA emulation: a block of " + std::to_string(threads) + " threads");
  Grid g;
  g.grid = grid;
  g.block = block;
  g.body = &body;
  g.fibers.resize(threads);
  g.lanes.assign((threads + 31) / 32 * 32, 0);
  for (size_t i = 0; i < threads; ++i) g.stacks.emplace_back(new char[kStackBytes]);
  running = &g;
  try {
    for (unsigned bz = 0; bz < grid.z; ++bz) {
      for (unsigned by = 0; by < grid.y; ++by) {
        for (unsigned bx = 0; bx < grid.x; ++bx) {
          g.block_index = dim3(bx, by, bz);
          for (size_t i = 0; i < threads; ++i) {
            Fiber& f = g.fibers[i];
            f = Fiber{};
            f.index = dim3(static_cast<unsigned>(i % block.x), static_cast<unsigned>(i / block.x % block.y),
                           static_cast<unsigned>(i / (static_cast<size_t>(block.x) * block.y)));
            getcontext(&f.start);
            f.start.uc_stack.ss_sp = g.stacks[i].get();
            f.start.uc_stack.ss_size = kStackBytes;
            f.start.uc_link = nullptr;
            makecontext(&f.start, fiber_entry, 0);
          }
          for (bool live = true; live;) {
            live = false;
            for (size_t i = 0; i < threads; ++i) {
              Fiber& f = g.fibers[i];
              if (f.done) continue;
              g.current = i;
              if (_setjmp(g.scheduler) == 0) {
                if (!f.started) {
                  f.started = true;
                  setcontext(&f.start);
                }
                _longjmp(f.resume, 1);
              }
              live = live || !f.done;
            }
          }
        }
      }
    }
  } catch (...) {
    running = nullptr;
    throw;
  }
  running = nullptr;
}

}  // namespace compressor::cuda_emulation

using compressor::cuda_emulation::last_error;

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory (emulated device)";
    case cudaErrorInvalidValue: return "invalid argument (emulated device)";
  }
  return "unknown error (emulated device)";
}

cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const auto e = static_cast<cudaError_t>(last_error);
  last_error = 0;
  return e;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (device != 0) return cudaErrorInvalidValue;
  std::strcpy(p->name, "CPU emulation of a CUDA device");
  p->major = 0;
  p->minor = 0;
  p->totalGlobalMem = 0;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::malloc(bytes);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
