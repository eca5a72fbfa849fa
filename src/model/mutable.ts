/** A writable view of a readonly type, for building a value field by field before handing it out as readonly. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
