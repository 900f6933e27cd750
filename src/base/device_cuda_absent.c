/*
 * device_cuda_absent.c - what a build without CUDA says about CUDA: no
 * device, no GPUs. Compiled instead of cuda/ when DEVO_CUDA is off.
 */
#include "device.h"

const devo_device_i *devo_device_cuda(void) { return NULL; }

int devo_cuda_device_count(void) { return 0; }
