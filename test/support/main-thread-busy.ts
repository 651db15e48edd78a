// How long the main thread was kept busy while some work ran. A wall-clock gap between two timer
// ticks also counts the time the kernel ran other processes (on a shared, loaded machine that is
// often over 50 ms); the thread's own CPU time in the gap (schedstat, in ns) is what a render on
// this thread would have cost it.

import { readFileSync } from 'node:fs';

function mainThreadCpuMs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

/** The most CPU the main thread spent between two runs of a 5 ms timer while `work` ran, and the longest wall gap. */
export async function longestBusy<T>(work: Promise<T>): Promise<{ result: T; busyMs: number; stallMs: number }> {
  let last = performance.now();
  let lastCpu = mainThreadCpuMs();
  let busyMs = 0;
  let stallMs = 0;
  const sample = (): void => {
    const now = performance.now();
    const cpu = mainThreadCpuMs();
    stallMs = Math.max(stallMs, now - last);
    busyMs = Math.max(busyMs, cpu - lastCpu);
    last = now;
    lastCpu = cpu;
  };
  const timer = setInterval(sample, 5);
  try {
    const result = await work;
    sample();
    return { result, busyMs, stallMs };
  } finally {
    clearInterval(timer);
  }
}
