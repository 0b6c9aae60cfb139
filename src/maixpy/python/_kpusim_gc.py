from gc import collect, enable, disable, isenabled, mem_free, mem_alloc, threshold
