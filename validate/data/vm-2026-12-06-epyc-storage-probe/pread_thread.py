import os, mmap, time, random, threading
path='/var/tmp/rprobe.bin'; B=24<<20; N=128
with open(path,'wb') as f:
    for i in range(N): f.write(os.urandom(B))
    f.flush(); os.fsync(f.fileno())
fd=os.open(path, os.O_RDONLY|os.O_DIRECT)
buf=mmap.mmap(-1,B)
buf.write(b'\0'*B)  # resident, like mb_storage's memset
rng=random.Random(1)
def one():
    off=rng.randrange(N)*B
    t=time.perf_counter(); os.preadv(fd,[buf],off); return B/(time.perf_counter()-t)/1e9
def med(v): v.sort(); return "%.2f"%v[len(v)//2]
print("main thread, resident buf", med([one() for _ in range(60)]))
bar=threading.Barrier(2); res=[]; stop=[False]
def worker():
    while True:
        bar.wait()
        if stop[0]: return
        res.append(one()); bar.wait()
th=threading.Thread(target=worker); th.start()
for _ in range(60): bar.wait(); bar.wait()
stop[0]=True; bar.wait(); th.join()
print("worker thread + barrier", med(res))
print("main thread again", med([one() for _ in range(60)]))
os.unlink(path)
