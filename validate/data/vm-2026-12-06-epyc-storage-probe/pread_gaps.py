import os, mmap, time, random, sys
path='/var/tmp/rprobe.bin'; B=24<<20; N=128
with open(path,'wb') as f:
    for i in range(N): f.write(os.urandom(B))
    f.flush(); os.fsync(f.fileno())
fd=os.open(path, os.O_RDONLY|os.O_DIRECT)
os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)
buf=mmap.mmap(-1,B)
rng=random.Random(1)
def run(gap, n=40):
    rates=[]
    for i in range(n):
        off=rng.randrange(N)*B
        t=time.perf_counter(); os.preadv(fd,[buf],off); dt=time.perf_counter()-t
        rates.append(B/dt/1e9)
        if gap: time.sleep(gap)
    rates.sort(); return rates[len(rates)//2], rates[len(rates)//10], rates[9*len(rates)//10]
for gap in (0, 0.005, 0.02, 0, 0.005):
    print(gap, ["%.2f"%x for x in run(gap)])
os.unlink(path)
