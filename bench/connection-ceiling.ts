import { readFile } from 'node:fs/promises';

/** Descriptors the load generator needs besides its sockets (its own files, IPC, HTTP sends). */
const RESERVED_DESCRIPTORS = 500;

/**
 * The most connections one load generator on this machine can hold open to `instances` servers:
 * one descriptor per socket within its open-file limit (inherited from the bench), and one local
 * port per socket towards each server. Each instance holds a share of them under the same limit,
 * so the load generator is what bounds them.
 */
export async function connectionCeiling(instances: number) {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  const openFiles = soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
  const [low, high] = range.trim().split(/\s+/).map(Number) as [number, number];
  const localPorts = (high - low + 1) * instances;
  return {
    ceiling: Math.min(openFiles - RESERVED_DESCRIPTORS, localPorts),
    openFiles,
    localPorts,
  };
}
