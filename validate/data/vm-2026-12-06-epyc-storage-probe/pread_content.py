import os, mmap, time, random, sys
B=24<<20; N=64
def test(chunk, label):
    path='/var/tmp/rprobe.bin'
    data=os.urandom(B)
    with open(path,'wb') as f:
        for i in range(N*B//chunk): f.write(data[:chunk] if chunk<=B else data)
        f.flush(); os.fsync(f.fileno())
    fd=os.open(path, os.O_RDONLY|os.O_DIRECT)
    buf=mmap.mmap(-1,B); rng=random.Random(1); v=[]
    for _ in range(40):
        off=rng.randrange(N)*B; t=time.perf_counter(); os.preadv(fd,[buf],off); v.append(B/(time.perf_counter()-t)/1e9)
    v.sort(); print(label, "%.2f"%v[len(v)//2]); os.close(fd); os.unlink(path)
test(8<<20, "written in 8 MiB chunks")
test(24<<20, "written in 24 MiB chunks")
test(1<<20, "written in 1 MiB chunks")
