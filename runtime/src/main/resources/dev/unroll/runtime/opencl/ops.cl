// Unroll's OpenCL C op library (see OpenClKernels in the processor for the conventions).
