//! The `no_std` runtime of the component: an abort-on-panic handler and a
//! small freeing allocator.
//!
//! Blocks come in power-of-two size classes (16 bytes up); a freed block goes
//! onto its class's free list and the next allocation of that class takes it
//! back, so memory that a call frees (a page of rows, a parsed message) is
//! used again: a long call, or an instance kept for many calls, stays within
//! the high-water mark of what it holds at once, at most twice the live bytes.
//! New blocks are cut from the top of linear memory, grown on demand; the
//! block on top grows in place (a `Vec` or `String` being filled leaves no
//! copies behind). Every block of a class is aligned to its size (up to a
//! wasm page), so a block from a free list suits any request of its class.
//! This costs a few hundred bytes of code, against about 10 KB for dlmalloc.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;

const PAGE: usize = 65_536;
/// The smallest class: room for the free list's link, and few classes.
const MIN_CLASS: u32 = 4;

struct Heap {
    /// The first byte never handed out.
    top: usize,
    /// The end of linear memory.
    end: usize,
    /// The start of the block just below `top` (it may grow in place).
    last: usize,
    /// One singly linked free list per class (0 = empty): class `c` holds
    /// blocks of `1 << c` bytes, the link in their first word.
    free: [usize; 32],
}

struct Alloc(UnsafeCell<Heap>);

// SAFETY: the component is single-threaded.
unsafe impl Sync for Alloc {}

#[global_allocator]
static ALLOC: Alloc = Alloc(UnsafeCell::new(Heap { top: 0, end: 0, last: 0, free: [0; 32] }));

/// The class of a request: log2 of its block size.
fn class(layout: Layout) -> u32 {
    let size = layout.size().max(layout.align()).max(1 << MIN_CLASS);
    let Some(block) = size.checked_next_power_of_two() else { wasm32::unreachable() };
    block.trailing_zeros()
}

/// The alignment every block of class `c` has.
fn class_align(c: u32) -> usize {
    (1usize << c).min(PAGE)
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

    /// A fresh block of class `c` from the top.
    fn carve(&mut self, c: u32) -> usize {
        if self.end == 0 {
            self.end = wasm32::memory_size(0) * PAGE;
            self.top = self.end;
        }
        let align = class_align(c);
        let start = (self.top + align - 1) & !(align - 1);
        let Some(stop) = start.checked_add(1 << c) else { wasm32::unreachable() };
        self.reach(stop);
        self.last = start;
        start
    }

    fn take(&mut self, c: u32) -> usize {
        let head = self.free[c as usize];
        if head == 0 {
            return self.carve(c);
        }
        // SAFETY: `head` is a freed block of this class; its first word is the link.
        self.free[c as usize] = unsafe { *(head as *const usize) };
        head
    }

    fn give_back(&mut self, ptr: usize, c: u32) {
        if ptr == self.last && ptr + (1 << c) == self.top {
            // The top block: lower the top instead of keeping it on a list.
            self.top = ptr;
            self.last = 0;
            return;
        }
        // SAFETY: the block is at least a word long and no longer in use.
        unsafe { *(ptr as *mut usize) = self.free[c as usize] };
        self.free[c as usize] = ptr;
    }
}

// Out of line: inlined into every caller (every drop, for `dealloc`) they
// cost kilobytes of component size.
unsafe impl GlobalAlloc for Alloc {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded, and no reference to the heap outlives this call.
        let h = unsafe { &mut *self.0.get() };
        h.take(class(layout)) as *mut u8
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: single-threaded, and no reference to the heap outlives this call.
        let h = unsafe { &mut *self.0.get() };
        h.give_back(ptr as usize, class(layout));
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `layout.align()` is a valid alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let (old, new) = (class(layout), class(new_layout));
        if old == new {
            return ptr;
        }
        // SAFETY: single-threaded, and no reference to the heap outlives this call.
        let h = unsafe { &mut *self.0.get() };
        let at = ptr as usize;
        if at == h.last && at + (1 << old) == h.top && at % class_align(new) == 0 {
            // The top block grows or shrinks in place.
            h.reach(at + (1 << new));
            return ptr;
        }
        let p = h.take(new) as *mut u8;
        // SAFETY: both blocks are live and distinct; the copy fits both.
        unsafe { core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size)) };
        h.give_back(at, old);
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
