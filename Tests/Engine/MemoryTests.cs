namespace Tensorium.Tests.Engine;

/// <summary>Leak counters, scopes and the buffer pool. These read the CPU pool's global counters, so they never run in parallel.</summary>
[NonParallelizable]
public class MemoryTests
{
    private static BufferPool Pool => Device.Cpu.Pool;

    [SetUp]
    public void CollectStrays()
    {
        // Tensors other tests dropped without Dispose return their memory from finalizers; do that now, not mid-test.
        Reference.SettledLiveBuffers();
        // Start from an empty pool: the pool gives back buffers past its cap or left idle, so what
        // earlier tests left in it could be trimmed mid-test and move the exact counts read here.
        Pool.Empty();
    }

    [Test]
    public void TrainingLoopDoesNotGrow()
    {
        var g = new Generator(2024);
        using var w = Tensor.Normal([8, 4], 0, 0.5, g, DType.Float32);
        using var b = Tensor.Zeros([4]);
        w.RequiresGrad = b.RequiresGrad = true;
        long afterStep2 = 0, pooledAfterStep2 = 0;
        float firstLoss = 0, lastLoss = 0;
        for (int step = 1; step <= 20; step++)
        {
            using (new TensorScope())
            {
                var x = Tensor.Normal([16, 8], generator: new Generator(7), dtype: DType.Float32);
                var target = Tensor.Uniform([16, 4], -0.5, 0.5, new Generator(8), DType.Float32);
                var h = x.MatMul(w) + b;
                var y = h.Tanh();
                var diff = y - target;
                var loss = (diff * diff).Mean();
                loss.Backward();
                using (Tape.NoGrad())
                {
                    w.CopyFrom(w - w.Grad! * 0.5);
                    b.CopyFrom(b - b.Grad! * 0.5);
                }
                w.ZeroGrad();
                b.ZeroGrad();
                if (step == 1) firstLoss = (float)loss.Item();
                lastLoss = (float)loss.Item();
            }
            if (step == 2) { afterStep2 = Pool.LiveBuffers; pooledAfterStep2 = Pool.PooledBytes; }
        }
        Assert.That(Pool.LiveBuffers, Is.EqualTo(afterStep2), "live buffers after step 20 vs step 2");
        Assert.That(Pool.PooledBytes, Is.EqualTo(pooledAfterStep2), "the pool stops growing once warm");
        Assert.That(lastLoss, Is.LessThan(firstLoss), "the loop actually trains");
        Assert.That(w.Grad, Is.Null);
    }

    [Test]
    public void ScopeDisposesEverythingItCreated()
    {
        long before = Pool.LiveBuffers;
        Tensor inner;
        using (new TensorScope())
        {
            var a = Tensor.Ones([10]);
            var b = a * 2.0;
            inner = b.Reshape(2, 5);
            Assert.That(Pool.LiveBuffers, Is.GreaterThan(before));
        }
        Assert.That(inner.IsDisposed, Is.True);
        Assert.That(Pool.LiveBuffers, Is.EqualTo(before));
    }

    [Test]
    public void KeepMovesATensorOutOfTheScope()
    {
        long before = Pool.LiveBuffers;
        Tensor kept;
        using (var outer = new TensorScope())
        {
            using (var scope = new TensorScope())
            {
                var a = Tensor.Full([3], 2);
                kept = scope.Keep(a * a);
            }
            Assert.That(kept.IsDisposed, Is.False);
            Assert.That(kept.ToDoubleArray(), Is.EqualTo(new double[] { 4, 4, 4 }));
            Assert.That(Pool.LiveBuffers, Is.EqualTo(before + 1), "only the kept tensor is alive");
        }
        Assert.That(kept.IsDisposed, Is.True, "kept moves to the enclosing scope, which disposes it");
        Tensor free;
        using (var scope = new TensorScope()) free = scope.Keep(Tensor.Ones([2]));
        Assert.That(free.IsDisposed, Is.False, "with no enclosing scope the caller owns it");
        free.Dispose();
        Assert.That(Pool.LiveBuffers, Is.EqualTo(before));
    }

    [Test]
    public void KeptLossCanBackpropagateAfterItsScopeCloses()
    {
        long before = Pool.LiveBuffers;
        using var x = Tensor.FromArray(new float[] { 1, 2, 3 });
        x.RequiresGrad = true;
        Tensor loss;
        using (var scope = new TensorScope())
        {
            using var y = x.Tanh();
            loss = scope.Keep((y * x).Sum());   // tanh and mul saved tensors must survive the scope
        }
        loss.Backward();
        var expected = new[] { 1.0, 2, 3 }.Select(v => Math.Tanh(v) + v * (1 - Math.Tanh(v) * Math.Tanh(v))).ToArray();
        Reference.AssertClose(x.Grad!.ToDoubleArray(), expected, 1e-6, 1e-5, "d/dx x tanh x");
        loss.Dispose();
        x.ZeroGrad();
        Assert.That(Pool.LiveBuffers, Is.EqualTo(before + 1), "after backward only x is alive: saved tensors were freed");
    }

    [Test]
    public void DisposingTheBaseKeepsViewsValid()
    {
        long before = Pool.LiveBuffers;
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var view = x.T;
        x.Dispose();
        Assert.That(Pool.LiveBuffers, Is.EqualTo(before + 1), "the view holds the storage");
        using (var filler = Tensor.Full([2, 3], 99)) { }   // would reuse the buffer if it had been freed
        Assert.That(view.ToArray<float>(), Is.EqualTo(new float[] { 1, 4, 2, 5, 3, 6 }));
        view.Dispose();
        Assert.That(Pool.LiveBuffers, Is.EqualTo(before));
    }

    [Test]
    public void PoolReusesBuffersAndEmpties()
    {
        const int n = 3000;   // 12000 bytes: size class 16384
        long cls = BufferPool.SizeClass(n * 4);
        Assert.That(cls, Is.EqualTo(16384));
        var a = Tensor.Zeros([n]);
        long live = Pool.LiveBytes, pooled = Pool.PooledBytes;
        a.Dispose();
        Assert.That(Pool.LiveBytes, Is.EqualTo(live - cls));
        Assert.That(Pool.PooledBytes, Is.EqualTo(pooled + cls), "the buffer goes back to the pool");
        var b = Tensor.Ones([n - 100]);   // same size class
        Assert.That(Pool.PooledBytes, Is.EqualTo(pooled), "the next allocation of that class comes from the pool");
        Assert.That(b.ToDoubleArray(), Is.All.EqualTo(1));
        b.Dispose();
        Assert.That(Pool.PooledBytes, Is.GreaterThan(0));
        Pool.Empty();
        Assert.That(Pool.PooledBytes, Is.Zero);
        using var c = Tensor.Ones([n]);
        Assert.That(c.ToDoubleArray(), Is.All.EqualTo(1), "allocation works after Empty()");
    }

    [Test]
    public void SecondStepAllocatesFromThePool()
    {
        void Step()
        {
            using var scope = new TensorScope();
            var x = Tensor.Uniform([64, 32], generator: new Generator(1));
            var w = Tensor.Uniform([32, 16], generator: new Generator(2));
            w.RequiresGrad = true;
            var loss = x.MatMul(w).Relu().Sum();
            loss.Backward();
            w.ZeroGrad();
        }
        Step();
        long pooled = Pool.PooledBytes, live = Pool.LiveBuffers;
        Assert.That(pooled, Is.GreaterThan(0));
        Step();
        Assert.That(Pool.PooledBytes, Is.EqualTo(pooled), "a repeated step needs no new memory");
        Assert.That(Pool.LiveBuffers, Is.EqualTo(live));
    }

    [Test]
    public void ViewsAndGradientsDoNotLeak()
    {
        long before = Pool.LiveBuffers;
        using (var scope = new TensorScope())
        {
            var x = Tensor.Normal([5, 6], generator: new Generator(3), dtype: DType.Float64);
            x.RequiresGrad = true;
            var y = x.T.Slice(0, 1, 6, 2).Reshape(-1).Exp().Sum();
            y.Backward();
            Assert.That(x.Grad, Is.Not.Null);
        }
        Assert.That(Pool.LiveBuffers, Is.EqualTo(before), "the scope also frees the leaf's gradient");
    }

    [Test]
    public void ScalarOperatorsDoNotLeakOutsideAScope()
    {
        long before = Pool.LiveBuffers;
        using (var x = Tensor.Ones([3]))
        using (var y = x * 2.0)
        using (var z = 1.0 - y)
        using (var w = z / 4.0)
        using (var m = w.Gt(0.5))
            Assert.That(w.ToDoubleArray(), Is.All.EqualTo(-0.25));
        Assert.That(Pool.LiveBuffers, Is.EqualTo(before), "no scalar operand is left for the finalizer");
        using (var x = Tensor.Ones([3], DType.Float64))
        {
            x.RequiresGrad = true;
            using var a = x * 3.0;
            using var s = a.Sum();
            s.Backward();
            Assert.That(x.Grad!.ToArray<double>(), Is.All.EqualTo(3.0));
        }
        Assert.That(Pool.LiveBuffers, Is.EqualTo(before), "backward frees what the tape saved");
    }

    [Test]
    public void ScopesDisposedOutOfOrderLeaveNoDeadScopeCurrent()
    {
        var outer = new TensorScope();
        var inner = new TensorScope();
        outer.Dispose();
        var t = Tensor.Ones([2]);
        inner.Dispose();
        Assert.That(t.IsDisposed, Is.True, "the innermost open scope owned it");
        var current = typeof(TensorScope).GetField("_current", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        Assert.That(current.GetValue(null), Is.Null, "no disposed scope is left current to collect later tensors");
        long before = Pool.LiveBuffers;
        using (var scope = new TensorScope()) Tensor.Ones([2]);
        Assert.That(Pool.LiveBuffers, Is.EqualTo(before), "new scopes still work");
    }
}
