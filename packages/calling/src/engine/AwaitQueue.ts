import { CallError } from '../errors.js';

interface Task<T> {
  name: string;
  run: () => Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs async tasks one at a time, in the order they were pushed (after mediasoup-client's
 * AwaitQueue): call, accept, hangup and media changes never interleave.
 */
export class AwaitQueue {
  #tasks: Task<unknown>[] = [];
  #running = false;
  #closed = false;

  /** How many tasks wait or run. */
  get size(): number {
    return this.#tasks.length;
  }

  /** Runs `run` after every task pushed before it has finished; settles as `run` does. */
  push<T>(name: string, run: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(CallError.invalidState(name, 'closed'));
    return new Promise<T>((resolve, reject) => {
      this.#tasks.push({ name, run, resolve, reject } as Task<unknown>);
      if (!this.#running) void this.#drain();
    });
  }

  /** Rejects every task that has not started yet; later pushes are rejected. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The running task (if any) is first in the list and settles by itself.
    const waiting = this.#running ? this.#tasks.splice(1) : this.#tasks.splice(0);
    for (const task of waiting) task.reject(CallError.invalidState(task.name, 'closed'));
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#tasks.length) {
      const task = this.#tasks[0]!;
      try {
        task.resolve(await task.run());
      } catch (error) {
        task.reject(error);
      }
      this.#tasks.shift();
    }
    this.#running = false;
  }
}
