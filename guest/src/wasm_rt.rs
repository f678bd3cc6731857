//! The `no_std` runtime of the component: an abort-on-panic handler and a
//! small freeing allocator.
//!
//! Blocks under 1 MiB come in power-of-two sizes (16 bytes up), larger ones
//! in whole wasm pages. A freed block goes onto a free list (one per small
//! size; one first-fit list for large blocks), and the next allocation that
//! fits takes it back, so memory that a call frees (a page of rows, a parsed
//! message) is used again: a long call, or an instance kept for many calls,
//! stays near the high-water mark of what it holds at once. New blocks are
//! cut from the top of linear memory, grown on demand, and a freed top block
//! lowers the top. A `Vec` or `String` that outgrows its block moves to a
//! block of the new size, even from the top: growing the top block in place
//! made an instance that loads histories of more than 32 KiB of JSON grow by
//! 64 KiB a load, without end (`host/src/engine/warm_tests.rs`), while moving
//! keeps it flat. Every small block is aligned
//! to its size and every large one to a page, so a block from a free list
//! suits any request it is big enough for. This costs a few hundred bytes of
//! code, against about 10 KB for dlmalloc.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;

const PAGE: usize = 65_536;
/// From this size on, blocks are sized in pages, not powers of two.
const LARGE: usize = 1 << 20;

struct Heap {
    /// The first byte never handed out.
    top: usize,
    /// The end of linear memory.
    end: usize,
    /// The start of the block just below `top` (freeing it lowers the top).
    last: usize,
    /// One singly linked free list per small size `1 << c` (0 = empty), the
    /// link in the block's first word.
    free: [usize; 20],
    /// Free large blocks: the link in the first word, the size in the second.
    large: usize,
}

struct Alloc(UnsafeCell<Heap>);

// SAFETY: the component is single-threaded.
unsafe impl Sync for Alloc {}

#[global_allocator]
static ALLOC: Alloc = Alloc(UnsafeCell::new(Heap { top: 0, end: 0, last: 0, free: [0; 20], large: 0 }));

/// The size of the block that serves `layout`.
///
/// This and the heap's `take` and `give_back` are inlined into the three
/// entry points below, which stay out of line: about 5 % fewer instructions
/// per append or lock cycle, for 484 bytes of component.
#[inline(always)]
fn block(layout: Layout) -> usize {
    let size = layout.size().max(layout.align()).max(16);
    if size >= LARGE {
        return size.checked_add(PAGE - 1).unwrap_or_else(|| wasm32::unreachable()) & !(PAGE - 1);
    }
    size.next_power_of_two()
}

impl Heap {
    /// Moves the top to `stop`, growing memory when needed. Out of memory
    /// traps here, as `handle_alloc_error` would: the allocator never returns
    /// null.
    fn reach(&mut self, stop: usize) {
        if stop > self.end {
            let pages = (stop - self.end).div_ceil(PAGE);
            if wasm32::memory_grow(0, pages) == usize::MAX {
                wasm32::unreachable()
            }
            self.end += pages * PAGE;
        }
        self.top = stop;
    }

    /// The free list of the small blocks of `size` bytes. No indexing: a
    /// bounds-check panic would link `core::fmt`'s integer formatting.
    fn small_list(&mut self, size: usize) -> &mut usize {
        self.free.get_mut(size.trailing_zeros() as usize).unwrap_or_else(|| wasm32::unreachable())
    }

    /// A block of `size` bytes (a [`block`] size).
    #[inline(always)]
    fn take(&mut self, size: usize) -> usize {
        // SAFETY: every block on a free list is free and at least two words
        // long; its first word is the link, a large one's second its size.
        unsafe {
            let mut link: *mut usize = if size < LARGE { self.small_list(size) } else { &mut self.large };
            while *link != 0 {
                let b = *link as *mut usize;
                if size < LARGE || *b.add(1) >= size {
                    *link = *b;
                    return b as usize;
                }
                link = b;
            }
        }
        if self.end == 0 {
            self.end = wasm32::memory_size(0) * PAGE;
            self.top = self.end;
        }
        let align = size.min(PAGE);
        let start = (self.top + align - 1) & !(align - 1);
        self.reach(start.checked_add(size).unwrap_or_else(|| wasm32::unreachable()));
        self.last = start;
        start
    }

    #[inline(always)]
    fn give_back(&mut self, ptr: usize, size: usize) {
        if ptr == self.last && ptr + size == self.top {
            // The top block: lower the top instead of keeping it on a list.
            self.top = ptr;
            self.last = 0;
            return;
        }
        let b = ptr as *mut usize;
        // SAFETY: the block is free and at least two words long.
        unsafe {
            if size < LARGE {
                let head = self.small_list(size);
                *b = *head;
                *head = ptr;
            } else {
                *b = self.large;
                *b.add(1) = size;
                self.large = ptr;
            }
        }
    }
}

// Out of line: inlined into every caller (every drop, for `dealloc`) they
// cost kilobytes of component size.
unsafe impl GlobalAlloc for Alloc {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded, and no reference to the heap outlives this call.
        let h = unsafe { &mut *self.0.get() };
        h.take(block(layout)) as *mut u8
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: single-threaded, and no reference to the heap outlives this call.
        let h = unsafe { &mut *self.0.get() };
        h.give_back(ptr as usize, block(layout));
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `layout.align()` is a valid alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let (old, new) = (block(layout), block(new_layout));
        if old == new {
            return ptr;
        }
        // SAFETY: single-threaded, and no reference to the heap outlives this call.
        let h = unsafe { &mut *self.0.get() };
        let p = h.take(new) as *mut u8;
        // SAFETY: both blocks are live and distinct; the copy fits both.
        unsafe { core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size)) };
        h.give_back(ptr as usize, old);
        p
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    wasm32::unreachable()
}

// `memcpy`, `memset`, `memcmp`, ... come from wasi-libc's static `libc.a`
// (only those objects are linked; nothing of libc's start-up is used).
#[link(name = "c")]
unsafe extern "C" {}

/// The canonical ABI's allocator export, over the global allocator (with
/// `std` it would come from wasi-libc, over libc's malloc).
///
/// # Safety
/// Called by the component runtime only, per the canonical ABI.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(old_ptr: *mut u8, old_len: usize, align: usize, new_len: usize) -> *mut u8 {
    if new_len == 0 {
        return align as *mut u8;
    }
    // SAFETY: the canonical ABI passes a valid alignment, and `old_ptr` was
    // allocated by this allocator with `old_len` bytes when `old_len > 0`.
    // The allocator never returns null (it traps when out of memory).
    unsafe {
        if old_len == 0 {
            ALLOC.alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            ALLOC.realloc(old_ptr, Layout::from_size_align_unchecked(old_len, align), new_len)
        }
    }
}
