/*
 * cuda_device.cu - device discovery for the CUDA backend.
 */
#include <cuda_runtime.h>

extern "C" {
#include "backend.h"
}

extern "C" int devo_cuda_device_count(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError(); // clear the sticky "no device" error
        return 0;
    }
    return count;
}

extern "C" const devo_backend_i *devo_backend_cuda(void) { return nullptr; }
