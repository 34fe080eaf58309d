// A store value for views that are costly to render (tables of every module): the component sees
// the latest value at most once per `ms`, the last one always delivered.
import { useEffect, useState } from 'react';
import type { StoreApi, UseBoundStore } from 'zustand';

export function useThrottled<S, T>(store: UseBoundStore<StoreApi<S>>, select: (s: S) => T, ms: number): T {
  const [value, setValue] = useState(() => select(store.getState()));
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = 0;
    const deliver = () => {
      timer = null;
      last = performance.now();
      setValue(() => select(store.getState()));
    };
    const unsubscribe = store.subscribe((s, prev) => {
      if (select(s) === select(prev) || timer !== null) return;
      timer = setTimeout(deliver, Math.max(0, last + ms - performance.now()));
    });
    deliver();
    return () => {
      unsubscribe();
      if (timer !== null) clearTimeout(timer);
    };
  }, [store, select, ms]);
  return value;
}
